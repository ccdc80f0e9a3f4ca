//! A request body read in one pass into a flat list of tokens: no
//! allocation per object or string, strings stay slices of the body, and a
//! container records where it ends so that it can be skipped in O(1).
//!
//! The tape only takes what it is sure serde_json would parse to the same
//! value: anything else (bad syntax, a truncated body, invalid UTF-8, a
//! top-level scalar, deep nesting, a number out of range, a lone surrogate)
//! makes [`Tape::parse`] return `None`, and the caller falls back to the tree
//! decoder, whose errors carry Go's texts.

use serde_json::Number;

use crate::swar::{first_special, special_bytes};

/// Nesting deeper than this goes to the tree decoder (serde_json refuses
/// more than 128 levels; staying well below keeps the two from disagreeing).
const MAX_DEPTH: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    False,
    True,
    /// `start..end` is the literal.
    Number,
    /// `start..end` is the text between the quotes, which has no escapes.
    Str,
    /// `start..end` is the text between the quotes, with escapes.
    EscapedStr,
    /// `end` is the tape index just past the array, `count` its length.
    Array,
    /// `end` is the tape index just past the object, `count` its members;
    /// each member is a key (`Str` or `EscapedStr`) followed by its value.
    Object,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    pub start: u32,
    pub end: u32,
    pub count: u32,
}

/// The first JSON value of a body, as tokens in document order.
pub(super) struct Tape<'a> {
    text: &'a str,
    tokens: Vec<Token>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i + 4)?;
    let mut n = 0;
    for &d in digits {
        n = n * 16 + (d as char).to_digit(16)?;
    }
    Some(n)
}

/// Scans the string whose opening quote is at `i`: returns the index of
/// its closing quote and whether it has escapes.
fn scan_str(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        // Plain text eight bytes at a time.
        while let Some(chunk) = b.get(j..j + 8) {
            let mask = special_bytes(u64::from_le_bytes(chunk.try_into().ok()?));
            if mask != 0 {
                j += first_special(mask);
                break;
            }
            j += 8;
        }
        // At a quote, backslash or control character (or fewer than eight
        // bytes before the body ends).
        loop {
            match *b.get(j)? {
                b'"' => return Some((j, escaped)),
                b'\\' => {
                    escaped = true;
                    j = scan_escape(b, j)?;
                    break;
                }
                0x00..=0x1f => return None,
                _ => j += 1,
            }
        }
    }
}

/// Checks the escape whose backslash is at `j`; returns the index after it.
fn scan_escape(b: &[u8], mut j: usize) -> Option<usize> {
    match *b.get(j + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(j + 2),
        b'u' => {
            let n = hex4(b, j + 2)?;
            j += 6;
            if (0xDC00..=0xDFFF).contains(&n) {
                return None;
            }
            if (0xD800..=0xDBFF).contains(&n) {
                // Only a leading surrogate followed by a trailing one.
                if b.get(j..j + 2)? != b"\\u" {
                    return None;
                }
                let low = hex4(b, j + 2)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                j += 6;
            }
            Some(j)
        }
        _ => None,
    }
}

/// Scans the number starting at `i` (JSON's grammar, nothing more): returns
/// the index just past it and whether it is a plain integer (no fraction,
/// no exponent).
fn scan_number(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let digits = |mut j: usize| {
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        j
    };
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    match *b.get(j)? {
        b'0' => j += 1,
        b'1'..=b'9' => j = digits(j + 1),
        _ => return None,
    }
    let mut plain = true;
    if b.get(j) == Some(&b'.') {
        plain = false;
        let k = digits(j + 1);
        if k == j + 1 {
            return None;
        }
        j = k;
    }
    if let Some(b'e' | b'E') = b.get(j) {
        plain = false;
        j += 1;
        if let Some(b'+' | b'-') = b.get(j) {
            j += 1;
        }
        let k = digits(j);
        if k == j {
            return None;
        }
        j = k;
    }
    // A leading zero followed by a digit is not JSON.
    if b.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((j, plain))
}

/// The value of a number literal, as serde_json would have parsed it.
pub(super) fn number(literal: &str) -> Option<Number> {
    let (negative, digits) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    if digits.bytes().all(|d| d.is_ascii_digit()) {
        let mut n: u64 = 0;
        let mut fits = true;
        for d in digits.bytes() {
            match n
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(d - b'0')))
            {
                Some(m) => n = m,
                None => {
                    fits = false;
                    break;
                }
            }
        }
        if fits {
            if !negative {
                return Some(n.into());
            }
            // serde_json reads `-0` as a float; anything below i64::MIN too.
            if n != 0 && n <= 1 << 63 {
                return Some((0i64.wrapping_sub(n as i64)).into());
            }
        }
    }
    serde_json::from_str::<Number>(literal).ok()
}

impl<'a> Tape<'a> {
    /// Reads the first value of `body` (an object or an array; what
    /// follows it is ignored), or `None` when the tree decoder must decide.
    pub fn parse(body: &'a [u8]) -> Option<Tape<'a>> {
        let text = std::str::from_utf8(body).ok()?;
        u32::try_from(body.len()).ok()?;
        let b = body;
        let mut i = skip_ws(b, 0);
        if !matches!(b.get(i), Some(b'{' | b'[')) {
            return None;
        }
        let mut tokens: Vec<Token> = Vec::with_capacity(body.len() / 12 + 2);
        // Tape indexes of the open containers.
        let mut open: Vec<usize> = Vec::new();
        let token = |kind, start: usize, end: usize| Token {
            kind,
            start: start as u32,
            end: end as u32,
            count: 0,
        };
        // Reads the key at `i` and the colon after it; returns where the
        // value starts.
        let key = |tokens: &mut Vec<Token>, i: usize| -> Option<usize> {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (close, escaped) = scan_str(b, i)?;
            let kind = if escaped { Kind::EscapedStr } else { Kind::Str };
            tokens.push(token(kind, i + 1, close));
            let colon = skip_ws(b, close + 1);
            if b.get(colon) != Some(&b':') {
                return None;
            }
            Some(skip_ws(b, colon + 1))
        };
        'value: loop {
            // A value starts at `i`.
            match *b.get(i)? {
                c @ (b'{' | b'[') => {
                    if open.len() >= MAX_DEPTH {
                        return None;
                    }
                    let kind = if c == b'{' { Kind::Object } else { Kind::Array };
                    open.push(tokens.len());
                    tokens.push(token(kind, i, i));
                    i = skip_ws(b, i + 1);
                    let empty = if c == b'{' { b'}' } else { b']' };
                    if b.get(i) != Some(&empty) {
                        let at = tokens.len() - 1;
                        tokens[at].count = 1;
                        if c == b'{' {
                            i = key(&mut tokens, i)?;
                        }
                        continue 'value;
                    }
                    // An empty container: closed below.
                }
                b'"' => {
                    let (close, escaped) = scan_str(b, i)?;
                    let kind = if escaped { Kind::EscapedStr } else { Kind::Str };
                    tokens.push(token(kind, i + 1, close));
                    i = close + 1;
                }
                b't' if b[i..].starts_with(b"true") => {
                    tokens.push(token(Kind::True, i, i + 4));
                    i += 4;
                }
                b'f' if b[i..].starts_with(b"false") => {
                    tokens.push(token(Kind::False, i, i + 5));
                    i += 5;
                }
                b'n' if b[i..].starts_with(b"null") => {
                    tokens.push(token(Kind::Null, i, i + 4));
                    i += 4;
                }
                b'-' | b'0'..=b'9' => {
                    let (end, plain) = scan_number(b, i)?;
                    // Out-of-range numbers are serde_json errors: floats,
                    // and integers too long for 64 bits, which it reads as
                    // floats (a plain integer of 20 bytes or fewer fits).
                    if !plain || end - i > 20 {
                        number(&text[i..end])?;
                    }
                    tokens.push(token(Kind::Number, i, end));
                    i = end;
                }
                _ => return None,
            }
            // After a value: a separator, or the end of containers.
            loop {
                let &top = open.last()?;
                // An empty container was just opened at `i`: close it.
                let just_opened = top == tokens.len() - 1 && tokens[top].count == 0;
                if !just_opened {
                    i = skip_ws(b, i);
                }
                let object = tokens[top].kind == Kind::Object;
                match (object, *b.get(i)?) {
                    (_, b',') if !just_opened => {
                        tokens[top].count += 1;
                        i = skip_ws(b, i + 1);
                        if object {
                            i = key(&mut tokens, i)?;
                        }
                        continue 'value;
                    }
                    (true, b'}') | (false, b']') => {
                        tokens[top].end = tokens.len() as u32;
                        open.pop();
                        i += 1;
                        if open.is_empty() {
                            return Some(Tape { text, tokens });
                        }
                    }
                    _ => return None,
                }
            }
        }
    }

    #[inline]
    pub fn token(&self, at: usize) -> Token {
        self.tokens[at]
    }

    /// The tape index just past the value at `at`.
    #[inline]
    pub fn skip(&self, at: usize) -> usize {
        let t = self.tokens[at];
        match t.kind {
            Kind::Array | Kind::Object => t.end as usize,
            _ => at + 1,
        }
    }

    /// The text a token covers (a string's without its quotes).
    pub fn text(&self, t: Token) -> &'a str {
        &self.text[t.start as usize..t.end as usize]
    }

    /// A string token's value: borrowed when it has no escapes.
    #[inline]
    pub fn string(&self, t: Token) -> Result<std::borrow::Cow<'a, str>, serde_json::Error> {
        match t.kind {
            Kind::EscapedStr => {
                // The quotes around it are part of the body.
                let quoted = &self.text[t.start as usize - 1..t.end as usize + 1];
                serde_json::from_str::<String>(quoted).map(std::borrow::Cow::Owned)
            }
            _ => Ok(std::borrow::Cow::Borrowed(self.text(t))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn kinds(tape: &Tape<'_>) -> Vec<(Kind, u32, u32)> {
        tape.tokens
            .iter()
            .map(|t| match t.kind {
                Kind::Array | Kind::Object => (t.kind, t.end, t.count),
                _ => (t.kind, t.start, t.end),
            })
            .collect()
    }

    #[test]
    fn containers_record_their_end_and_length() {
        let body = br#" {"a":[1,{"b":null},[]],"c":true} trailing"#;
        let tape = Tape::parse(body).unwrap();
        assert_eq!(
            kinds(&tape),
            vec![
                (Kind::Object, 10, 2),
                (Kind::Str, 3, 4),
                (Kind::Array, 8, 3),
                (Kind::Number, 7, 8),
                (Kind::Object, 7, 1),
                (Kind::Str, 11, 12),
                (Kind::Null, 14, 18),
                (Kind::Array, 8, 0),
                (Kind::Str, 25, 26),
                (Kind::True, 28, 32),
            ]
        );
        // Skipping a container lands on the next member's key.
        assert_eq!(tape.skip(2), 8);
        assert_eq!(tape.text(tape.token(8)), "c");
        assert_eq!(tape.skip(4), 7);
        assert_eq!(tape.skip(3), 4);
        assert_eq!(tape.skip(0), 10);
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let body = r#"["plain é","a\"b\\c\/\n","\u00e9\ud83d\ude00"]"#.as_bytes();
        let tape = Tape::parse(body).unwrap();
        let plain = tape.token(1);
        assert_eq!(plain.kind, Kind::Str);
        assert!(matches!(
            tape.string(plain).unwrap(),
            Cow::Borrowed("plain é")
        ));
        let escaped = tape.token(2);
        assert_eq!(escaped.kind, Kind::EscapedStr);
        assert_eq!(tape.string(escaped).unwrap(), "a\"b\\c/\n");
        assert!(matches!(tape.string(escaped).unwrap(), Cow::Owned(_)));
        assert_eq!(tape.string(tape.token(3)).unwrap(), "é😀");
    }

    #[test]
    fn anything_doubtful_is_left_to_the_tree_decoder() {
        for body in [
            &b""[..],
            b"   ",
            b"[\"0123456789abcdef",
            b"[\"01234567\\",
            b"[\"0123456789\nabcdef\"]",
            b"5",
            b"\"top\"",
            b"null",
            b"{",
            b"{\"a\":1,}",
            b"[1,]",
            b"[01]",
            b"[1.]",
            b"[1e]",
            b"[-]",
            b"[1x]",
            b"[1e400]",
            b"[tru]",
            b"[nul]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"[\"\\ud800\"]",
            b"[\"\\udc00\"]",
            b"[\"\\ud800\\u0041\"]",
            b"[\"\\x\"]",
            b"[\"\\u12g4\"]",
            b"[\"tab\there\"]",
            b"[\"\xff\"]",
            b"[1] \xff",
            b"[}",
            b"{]",
        ] {
            assert!(
                Tape::parse(body).is_none(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // An integer beyond any float (serde_json: "number out of range"),
        // even where a decoder would skip it.
        let huge = format!("{{\"skipped\":[-3{}]}}", "0".repeat(320));
        assert!(serde_json::from_str::<serde_json::Value>(&huge).is_err());
        assert!(Tape::parse(huge.as_bytes()).is_none());
        let long = format!("[-3{}]", "0".repeat(300));
        assert!(Tape::parse(long.as_bytes()).is_some());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(Tape::parse(deep.as_bytes()).is_none());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Tape::parse(ok.as_bytes()).is_some());
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        for literal in [
            "0",
            "-0",
            "7",
            "-3",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.5",
            "1e3",
            "-2.5E-3",
            "123456789012345678901234567890",
        ] {
            let ours = number(literal).unwrap();
            let theirs: Number = serde_json::from_str(literal).unwrap();
            assert_eq!(ours, theirs, "{literal}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{literal}");
        }
        assert_eq!(number("-0").unwrap().to_string(), "-0.0");
        assert_eq!(
            number("-9223372036854775808").unwrap().as_i64(),
            Some(i64::MIN)
        );
        assert_eq!(number("1e400"), None);
    }
}
