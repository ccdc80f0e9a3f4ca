//! Values of HCL1 string and heredoc tokens: HCL's own unquoting (which
//! leaves `${…}` untouched) and heredoc indentation rules.

use super::scanner::{Kind, Token};

/// `hcl/strconv.Unquote`: a double-quoted string with Go escapes, except
/// that `${…}` is copied as written (only `\\` inside it is unescaped).
/// `None` where HCL returns `ErrSyntax`. Bytes from `\x`/octal escapes that
/// are not valid UTF-8 become U+FFFD, as Go's JSON encoder prints them.
pub fn unquote(s: &str) -> Option<String> {
    unquote_with(s, true)
}

/// The value of a STRING or HEREDOC token: HCL's unquoting, Go's plain
/// `strconv.Unquote` for strings read from JSON syntax (where `null` is
/// an empty text and means `""`). `None` where Go would panic.
pub fn token_value(t: &Token) -> Option<String> {
    match t.kind {
        Kind::Heredoc => Some(heredoc(&t.text)),
        _ if t.text.is_empty() => Some(String::new()),
        _ if t.json => unquote_with(&t.text, false),
        _ => unquote(&t.text),
    }
}

fn unquote_with(s: &str, interpolations: bool) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    if !interpolations && inner.contains('\n') {
        return None;
    }
    if !inner.contains(['\\', '"', '$']) {
        return Some(inner.to_string());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${").filter(|_| interpolations) {
            buf.extend_from_slice(b"${");
            rest = after;
            let mut braces = 1usize;
            while braces > 0 {
                let Some(r) = rest.chars().next() else { break };
                if r == char::REPLACEMENT_CHARACTER {
                    return None;
                }
                rest = &rest[r.len_utf8()..];
                if r == '\\' && rest.starts_with('\\') {
                    continue;
                }
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(r.encode_utf8(&mut tmp).as_bytes());
                match r {
                    '{' => braces += 1,
                    '}' => braces -= 1,
                    _ => {}
                }
            }
            if braces != 0 {
                return None;
            }
            continue;
        }
        let (bytes, tail) = unquote_char(rest)?;
        buf.extend_from_slice(&bytes);
        rest = tail;
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// One character or escape of a double-quoted string, as bytes.
fn unquote_char(s: &str) -> Option<(Vec<u8>, &str)> {
    let first = s.chars().next()?;
    if first == '"' {
        return None;
    }
    if first != '\\' {
        let n = first.len_utf8();
        return Some((s.as_bytes()[..n].to_vec(), &s[n..]));
    }
    let b = s.as_bytes();
    let c = *b.get(1)?;
    // Every escape letter is ASCII; anything else is a syntax error (and
    // slicing after it could split a character).
    if !c.is_ascii() {
        return None;
    }
    let rest = &s[2..];
    let simple = |v: u8| Some((vec![v], rest));
    match c {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'\\' => simple(b'\\'),
        b'"' => simple(b'"'),
        b'x' | b'u' | b'U' => {
            let n = match c {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = rest.get(..n)?;
            let v = digits
                .bytes()
                .try_fold(0u32, |acc, d| Some(acc << 4 | (d as char).to_digit(16)?))?;
            let tail = &rest[n..];
            if c == b'x' {
                // A single byte, possibly not UTF-8 on its own.
                return Some((vec![v as u8], tail));
            }
            if v > 0x10FFFF {
                return None;
            }
            let ch = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
            Some((ch.to_string().into_bytes(), tail))
        }
        b'0'..=b'7' => {
            let digits = rest.get(..2)?;
            let mut v = u32::from(c - b'0');
            for d in digits.bytes() {
                if !(b'0'..=b'7').contains(&d) {
                    return None;
                }
                v = v << 3 | u32::from(d - b'0');
            }
            if v > 255 {
                return None;
            }
            Some((vec![v as u8], &rest[2..]))
        }
        _ => None,
    }
}

/// The value of a heredoc token (`<<EOF\n…\nEOF\n` with its markers). With
/// `<<-` the closing line's indentation is removed from every line, unless
/// some line is indented less. The byte arithmetic follows HCL's, so a
/// closing line with text before the anchor leaves that text in the value.
pub fn heredoc(text: &str) -> String {
    let b = text.as_bytes();
    let Some(idx) = text.find('\n') else {
        return String::new();
    };
    let slice = |end_extra: usize| -> &[u8] {
        let end = (b.len() + end_extra).saturating_sub(idx);
        b.get(idx + 1..end).unwrap_or(&[])
    };
    if b.get(2) != Some(&b'-') {
        return String::from_utf8_lossy(slice(1)).into_owned();
    }
    let body = slice(2);
    let lines: Vec<&[u8]> = body.split(|&c| c == b'\n').collect();
    let prefix = lines.last().copied().unwrap_or(&[]);
    if !lines.iter().all(|l| l.starts_with(prefix)) {
        let kept = slice(1);
        let end = kept
            .iter()
            .rposition(|&c| c != b' ' && c != b'\t')
            .map_or(0, |i| i + 1);
        return String::from_utf8_lossy(&kept[..end]).into_owned();
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        if i + 1 < lines.len() {
            out.extend_from_slice(&line[prefix.len()..]);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_escapes_but_not_interpolations() {
        assert_eq!(unquote(r#""plain""#).as_deref(), Some("plain"));
        assert_eq!(unquote(r#""a\tb\n\"q\"""#).as_deref(), Some("a\tb\n\"q\""));
        assert_eq!(unquote(r#""\u00e9\x41\101""#).as_deref(), Some("éAA"));
        assert_eq!(
            unquote(r#""${attr.x\n} \\""#).as_deref(),
            Some("${attr.x\\n} \\")
        );
        assert_eq!(unquote(r#""${a("b")}""#).as_deref(), Some("${a(\"b\")}"));
        assert_eq!(unquote(r#""${a\\b}""#).as_deref(), Some("${a\\b}"));
        assert_eq!(unquote(r#""\q""#), None);
        assert_eq!(unquote("\"\\é\""), None);
        assert_eq!(unquote(r#""\UFFFFFFFF""#), None);
        assert_eq!(unquote(r#""${a""#), None);
        assert_eq!(unquote(r#""\xff""#).as_deref(), Some("\u{fffd}"));
        assert_eq!(
            unquote_with(r#""${a\\b}""#, false).as_deref(),
            Some("${a\\b}")
        );
        assert_eq!(unquote_with(r#""${a\qb}""#, false), None);
    }

    #[test]
    fn heredocs() {
        assert_eq!(heredoc("<<EOF\nline 1\nline 2\nEOF\n"), "line 1\nline 2\n");
        assert_eq!(heredoc("<<EOF\nEOF\n"), "");
        assert_eq!(heredoc("<<-EOF\n    a\n      b\n    EOF\n"), "a\n  b\n");
        // One line indented less than the marker: kept as is.
        assert_eq!(heredoc("<<-EOF\n  a\n b\n  EOF\n"), "  a\n b\n");
        // A closing line with text before the anchor.
        assert_eq!(heredoc("<<EOF\nab\nxEOF\n"), "ab\nx");
    }
}
