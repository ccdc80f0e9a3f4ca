//! Go renderings that only validation messages expose: `%+q` (ASCII-only
//! quoting), `%q` of a decoded JSON value, and `strconv.ParseUint` errors.

use serde_json::Value;

use crate::gofmt;

/// `%+q` / `strconv.QuoteToASCII`: like `%q` but every non-ASCII rune is
/// escaped (`\u00e9`, `\U0001f600`).
pub(crate) fn quote_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// `fmt.Sprintf("%q", v)` of a value Go decoded from JSON into
/// `interface{}`: strings are quoted, other scalars render as a bad verb
/// (`%!q(float64=5)`, `%!q(bool=true)`), lists and maps recurse. Map keys
/// are sorted (Go 1.12+ order; v0.6's Go 1.9 printed them in random order).
pub(crate) fn quote_json_value(v: &Value) -> String {
    let mut out = String::new();
    write_quoted(&mut out, v, 0);
    out
}

fn write_quoted(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null if depth == 0 => out.push_str("%!q(<nil>)"),
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(&format!("%!q(bool={b})")),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            out.push_str(&format!("%!q(float64={})", gofmt::float(f)));
        }
        Value::String(s) => out.push_str(&gofmt::quote(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_quoted(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&gofmt::quote(k));
                out.push(':');
                if let Some(item) = map.get(k) {
                    write_quoted(out, item, depth + 1);
                }
            }
            out.push(']');
        }
    }
}

/// `strconv.ParseUint(s, base, bit_size)` with Go's error text
/// (`strconv.ParseUint: parsing "x": invalid syntax` / `value out of
/// range`). Digits are checked left to right and the first problem wins,
/// as in Go.
pub(crate) fn parse_uint(s: &str, base: u32, bit_size: u32) -> Result<u64, String> {
    let fail = |why: &str| {
        Err(format!(
            "strconv.ParseUint: parsing {}: {why}",
            gofmt::quote(s)
        ))
    };
    if s.is_empty() {
        return fail("invalid syntax");
    }
    let max = if bit_size >= 64 {
        u64::MAX
    } else {
        (1u64 << bit_size) - 1
    };
    let mut n: u64 = 0;
    for c in s.chars() {
        let Some(digit) = c.to_digit(36).filter(|d| *d < base) else {
            return fail("invalid syntax");
        };
        match n
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(next) if next <= max => n = next,
            _ => return fail("value out of range"),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ascii_quoting_escapes_non_ascii() {
        let cases = [
            ("web", "\"web\""),
            ("caf\u{e9}", "\"caf\\u00e9\""),
            ("a\"b\\", "\"a\\\"b\\\\\""),
            ("\u{1f600}", "\"\\U0001f600\""),
            ("\u{1}\n", "\"\\x01\\n\""),
        ];
        for (input, want) in cases {
            assert_eq!(quote_ascii(input), want, "{input:?}");
        }
    }

    #[test]
    fn json_values_quote_like_go_percent_q() {
        let cases = [
            (json!("x"), "\"x\""),
            (json!(5), "%!q(float64=5)"),
            (json!(1.5), "%!q(float64=1.5)"),
            (json!(1e21), "%!q(float64=1e+21)"),
            (json!(true), "%!q(bool=true)"),
            (json!(["a", 1, null]), "[\"a\" %!q(float64=1) <nil>]"),
            (
                json!({"b": 1, "a": "x"}),
                "map[\"a\":\"x\" \"b\":%!q(float64=1)]",
            ),
            (json!([]), "[]"),
        ];
        for (input, want) in cases {
            assert_eq!(quote_json_value(&input), want, "{input}");
        }
    }

    #[test]
    fn parse_uint_matches_go() {
        assert_eq!(parse_uint("0644", 8, 12), Ok(0o644));
        assert_eq!(parse_uint("7777", 8, 12), Ok(0o7777));
        assert_eq!(
            parse_uint("17777", 8, 12),
            Err("strconv.ParseUint: parsing \"17777\": value out of range".into())
        );
        assert_eq!(
            parse_uint("0998", 8, 12),
            Err("strconv.ParseUint: parsing \"0998\": invalid syntax".into())
        );
        // The range problem comes first when it is met before the bad digit.
        assert_eq!(
            parse_uint("77777x", 8, 12),
            Err("strconv.ParseUint: parsing \"77777x\": value out of range".into())
        );
        assert_eq!(
            parse_uint("", 10, 64),
            Err("strconv.ParseUint: parsing \"\": invalid syntax".into())
        );
        assert_eq!(parse_uint("18446744073709551615", 10, 64), Ok(u64::MAX));
        assert_eq!(
            parse_uint("18446744073709551616", 10, 64),
            Err("strconv.ParseUint: parsing \"18446744073709551616\": value out of range".into())
        );
        assert_eq!(
            parse_uint("-1", 10, 64),
            Err("strconv.ParseUint: parsing \"-1\": invalid syntax".into())
        );
    }
}
