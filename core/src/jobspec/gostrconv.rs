//! Go 1.9's `strconv.ParseInt/ParseUint/ParseFloat/ParseBool` and
//! `time.ParseDuration`, which Nomad 0.6.3 ran, with their error texts.

use crate::gofmt::quote;

fn num_error(func: &str, input: &str, range: bool) -> String {
    let why = if range {
        "value out of range"
    } else {
        "invalid syntax"
    };
    format!("strconv.{func}: parsing {}: {why}", quote(input))
}

/// Digits of `s` in base 0 (`0x` hex, leading `0` octal, else decimal) as
/// an unsigned magnitude; `Err(true)` on overflow of `max`.
fn parse_magnitude(s: &str, max: u64) -> Result<u64, bool> {
    if s.is_empty() {
        return Err(false);
    }
    let b = s.as_bytes();
    let (base, digits) = if b[0] == b'0' && b.len() > 1 && (b[1] == b'x' || b[1] == b'X') {
        if b.len() < 3 {
            return Err(false);
        }
        (16, &s[2..])
    } else if b[0] == b'0' {
        (8, s)
    } else {
        (10, s)
    };
    let mut n: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(base).ok_or(false)?;
        n = n
            .checked_mul(u64::from(base))
            .and_then(|n| n.checked_add(u64::from(d)))
            .filter(|&n| n <= max)
            .ok_or(true)?;
    }
    Ok(n)
}

/// `strconv.ParseInt(s, 0, bits)`.
pub fn parse_int(s: &str, bits: u32) -> Result<i64, String> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let cutoff = 1u64 << (bits - 1);
    let max = if neg { cutoff } else { cutoff - 1 };
    match parse_magnitude(body, max) {
        Ok(n) if neg => Ok((n as i64).wrapping_neg()),
        Ok(n) => Ok(n as i64),
        Err(range) => Err(num_error("ParseInt", s, range)),
    }
}

/// `strconv.ParseUint(s, 0, 64)`.
pub fn parse_uint(s: &str) -> Result<u64, String> {
    parse_magnitude(s, u64::MAX).map_err(|range| num_error("ParseUint", s, range))
}

/// `strconv.ParseFloat(s, 64)` for the forms the HCL scanner and users
/// write (decimal with optional fraction and exponent, `inf`, `nan`).
pub fn parse_float(s: &str) -> Result<f64, String> {
    let valid = {
        let body = s.strip_prefix(['+', '-']).unwrap_or(s);
        let lower = body.to_ascii_lowercase();
        matches!(lower.as_str(), "inf" | "infinity" | "nan")
            || (body.bytes().any(|c| c.is_ascii_digit())
                && body
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')))
    };
    match s.parse::<f64>() {
        Ok(f) if valid => {
            let literal_inf = s.to_ascii_lowercase().contains("inf");
            if f.is_infinite() && !literal_inf {
                Err(num_error("ParseFloat", s, true))
            } else {
                Ok(f)
            }
        }
        _ => Err(num_error("ParseFloat", s, false)),
    }
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            quote(s)
        )),
    }
}

/// `time.ParseDuration` of Go 1.9, integer arithmetic and error texts
/// (`time: invalid duration 10x`, unquoted as Go printed them then).
pub fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {orig}");
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        // The integer part; Go fails on more than 63 bits.
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut v: i64 = 0;
        for c in s[..int_len].bytes() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(c - b'0')))
                .ok_or_else(invalid)?;
        }
        let pre = int_len > 0;
        s = &s[int_len..];
        let (mut frac, mut scale, mut post) = (0i64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let frac_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for c in s[..frac_len].bytes() {
                if overflow {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(i64::from(c - b'0')))
                {
                    Some(f) => {
                        frac = f;
                        scale *= 10.0;
                    }
                    // Go stops adding digits that no longer fit.
                    None => overflow = true,
                }
            }
            post = frac_len > 0;
            s = &s[frac_len..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {orig}"));
        }
        let unit_name = &s[..unit_len];
        s = &s[unit_len..];
        let unit: i64 = match unit_name {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {unit_name} in duration {orig}")),
        };
        if v > i64::MAX / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as i64;
            if v < 0 {
                return Err(invalid());
            }
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
    }
    Ok(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_in_base_zero() {
        assert_eq!(parse_int("42", 64), Ok(42));
        assert_eq!(parse_int("-0x1F", 64), Ok(-31));
        assert_eq!(parse_int("017", 64), Ok(15));
        assert_eq!(parse_int("0", 64), Ok(0));
        assert_eq!(parse_int("-9223372036854775808", 64), Ok(i64::MIN));
        assert_eq!(
            parse_int("9223372036854775808", 64),
            Err("strconv.ParseInt: parsing \"9223372036854775808\": value out of range".into())
        );
        assert_eq!(
            parse_int("08", 64),
            Err("strconv.ParseInt: parsing \"08\": invalid syntax".into())
        );
        assert_eq!(
            parse_int("", 64),
            Err("strconv.ParseInt: parsing \"\": invalid syntax".into())
        );
        assert_eq!(
            parse_int("1_000", 64),
            Err("strconv.ParseInt: parsing \"1_000\": invalid syntax".into())
        );
        assert_eq!(parse_uint("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_uint("-1"),
            Err("strconv.ParseUint: parsing \"-1\": invalid syntax".into())
        );
    }

    #[test]
    fn floats_and_bools() {
        assert_eq!(parse_float("1.5e3"), Ok(1500.0));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(
            parse_float("1e"),
            Err("strconv.ParseFloat: parsing \"1e\": invalid syntax".into())
        );
        assert_eq!(
            parse_float("1e999"),
            Err("strconv.ParseFloat: parsing \"1e999\": value out of range".into())
        );
        assert_eq!(parse_bool("T"), Ok(true));
        assert_eq!(
            parse_bool("yes"),
            Err("strconv.ParseBool: parsing \"yes\": invalid syntax".into())
        );
    }

    #[test]
    fn durations_like_go_1_9() {
        assert_eq!(parse_duration("10s"), Ok(10_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("abc"),
            Err("time: invalid duration abc".into())
        );
        assert_eq!(
            parse_duration("10"),
            Err("time: missing unit in duration 10".into())
        );
        assert_eq!(
            parse_duration("10x"),
            Err("time: unknown unit x in duration 10x".into())
        );
        assert_eq!(parse_duration(""), Err("time: invalid duration ".into()));
        assert_eq!(
            parse_duration("9999999999h"),
            Err("time: invalid duration 9999999999h".into())
        );
    }
}
