//! Go formatting that Nomad's messages and diffs expose: `%q` quoting,
//! `time.Duration` strings, `%v` of floats and string lists, and
//! `time.ParseDuration`.

use crate::model::Duration;

/// `strconv.Quote` / `%q`.
/// Appends `n` in decimal to `out`, without the formatting machinery
/// (hot where a pass names thousands of allocations or a diff renders
/// thousands of fields).
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let at = decimal_digits(n, &mut digits);
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// How many decimal digits `n` has.
pub(crate) fn decimal_len(n: u64) -> usize {
    const POWERS: [u64; 20] = {
        let mut powers = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            powers[i] = powers[i - 1] * 10;
            i += 1;
        }
        powers
    };
    // bits × log10(2) (1233 / 4096) is the count of digits or one less.
    let bits = 64 - (n | 1).leading_zeros() as usize;
    let guess = (bits * 1233) >> 12;
    (guess + usize::from(n >= POWERS[guess])).max(1)
}

/// Writes `n` in decimal at the end of `digits`; returns where it starts.
pub(crate) fn decimal_digits(n: u64, digits: &mut [u8; 20]) -> usize {
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            return at;
        }
    }
}

pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `%v` of a `[]string`: `[a b c]`.
pub fn string_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// `time.Duration.String()`: `1m0s`, `168h0m0s`, `1.5s`, `100ms`, `0s`.
pub fn duration(d: Duration) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, prec) = if u < 1_000 {
            ("ns", 0)
        } else if u < 1_000_000 {
            ("µs", 3)
        } else {
            ("ms", 6)
        };
        let frac = fraction(u, prec);
        u /= 10u64.pow(prec);
        out.push_str(&u.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let frac = fraction(u, 9);
        u /= 1_000_000_000;
        let secs = u % 60;
        let mins = u / 60 % 60;
        let hours = u / 3600;
        if hours > 0 {
            out.push_str(&format!("{hours}h{mins}m"));
        } else if u >= 60 {
            out.push_str(&format!("{mins}m"));
        }
        out.push_str(&format!("{secs}{frac}s"));
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `.123` for the `prec` low decimal digits of `v`, trailing zeros trimmed;
/// empty when they are all zero.
fn fraction(v: u64, prec: u32) -> String {
    if prec == 0 {
        return String::new();
    }
    let digits = format!("{:0width$}", v % 10u64.pow(prec), width = prec as usize);
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(".{trimmed}")
    }
}

/// `time.ParseDuration`: `300ms`, `1.5h`, `2h45m`, `-1s`, `0`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale: f64 = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let d = total.round() as i64;
    Some(if neg { -d } else { d })
}

/// `%v` of a float64 (`%g` with the shortest digits): scientific form when
/// the decimal exponent is < -4 or >= 6 (`1e+06`, `1.234567e+06`, `1e-05`).
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.234567e6".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(-4..6).contains(&exp) {
        scientific(sign, &digits, exp)
    } else {
        plain(sign, &digits, exp)
    }
}

fn scientific(sign: &str, digits: &str, exp: i32) -> String {
    let (head, tail) = digits.split_at(1);
    let mantissa = if tail.is_empty() {
        head.to_string()
    } else {
        format!("{head}.{tail}")
    };
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}e{esign}{:02}", exp.abs())
}

fn plain(sign: &str, digits: &str, exp: i32) -> String {
    let dp = exp + 1;
    if dp <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp as usize >= digits.len() {
        format!("{sign}{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        let (i, f) = digits.split_at(dp as usize);
        format!("{sign}{i}.{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_like_go() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(1_000_000_000), "1s");
        assert_eq!(duration(60_000_000_000), "1m0s");
        assert_eq!(duration(168 * 3600 * 1_000_000_000), "168h0m0s");
        assert_eq!(duration(1_500_000_000), "1.5s");
        assert_eq!(duration(100_000_000), "100ms");
        assert_eq!(duration(1_500), "1.5µs");
        assert_eq!(duration(-1), "-1ns");
        assert_eq!(duration(3_723_000_000_000), "1h2m3s");
    }

    #[test]
    fn parse_durations_like_go() {
        assert_eq!(parse_duration("10s"), Some(10_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("-2s"), Some(-2_000_000_000));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn floats_render_like_go_v() {
        assert_eq!(float(8080.0), "8080");
        assert_eq!(float(100000.0), "100000");
        assert_eq!(float(1e6), "1e+06");
        assert_eq!(float(1234567.0), "1.234567e+06");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(-2.25), "-2.25");
        assert_eq!(float(0.0), "0");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("x\n"), "\"x\\n\"");
        assert_eq!(string_list(&["a".into(), "b".into()]), "[a b]");
    }
}
