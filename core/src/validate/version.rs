//! Versions and version constraints as hashicorp/go-version (vendored by
//! Nomad v0.6.3) parses and compares them, for the `version` operand.

use std::cmp::Ordering;
use std::sync::OnceLock;

use regex::Regex;

/// go-version's `VersionRegexpRaw`, anchored. Its captures (lazy segments,
/// optional `-` before the prerelease) decide how ambiguous strings such as
/// `12.x` split, so the pattern is kept verbatim.
const VERSION_PATTERN: &str = r"^v?([0-9]+(\.[0-9]+)*?)(-?([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))??$";

fn version_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(VERSION_PATTERN).expect("static version pattern"))
}

/// A parsed version: numeric segments (padded to at least three),
/// prerelease and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    segments: Vec<i64>,
    /// How many segments were written (before padding); `~>` uses it.
    specified: usize,
    pre: String,
    metadata: String,
}

impl Version {
    /// Parses leniently: optional `v`, any number of numeric segments,
    /// `-prerelease` (the dash is optional), `+metadata`. Errors carry
    /// go-version's text (`Malformed version: x`).
    pub fn parse(s: &str) -> Result<Version, String> {
        if let Some(v) = Self::parse_plain(s) {
            return v;
        }
        let caps = version_regex()
            .captures(s)
            .ok_or_else(|| format!("Malformed version: {s}"))?;
        let numbers = caps.get(1).map_or("", |m| m.as_str());
        let mut version = Self::from_segments(numbers.split('.'))?;
        version.pre = caps.get(4).map_or("", |m| m.as_str()).to_string();
        version.metadata = caps.get(7).map_or("", |m| m.as_str()).to_string();
        Ok(version)
    }

    /// The common `v?N(.N)*` form without the regex engine; for such
    /// strings the regex captures every segment and nothing else.
    fn parse_plain(s: &str) -> Option<Result<Version, String>> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        let plain = !digits.is_empty()
            && digits
                .split('.')
                .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()));
        plain.then(|| Self::from_segments(digits.split('.')))
    }

    fn from_segments<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Version, String> {
        let mut segments = Vec::with_capacity(3);
        for part in parts {
            let value = part.parse::<i64>().map_err(|_| {
                format!(
                    "Error parsing version: strconv.ParseInt: parsing {}: value out of range",
                    crate::gofmt::quote(part)
                )
            })?;
            segments.push(value);
        }
        let specified = segments.len();
        while segments.len() < 3 {
            segments.push(0);
        }
        Ok(Version {
            segments,
            specified,
            pre: String::new(),
            metadata: String::new(),
        })
    }

    /// go-version's `Compare`. Quirks kept: the prerelease only counts when
    /// the padded segment lists are identical (`1.2.3-beta` equals
    /// `1.2.3.0`), and metadata never counts.
    pub fn compare(&self, other: &Version) -> Ordering {
        if self.segments == other.segments {
            if self.pre == other.pre {
                return Ordering::Equal;
            }
            return match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prereleases(&self.pre, &other.pre),
            };
        }
        let (mine, theirs) = (&self.segments, &other.segments);
        for i in 0..mine.len().max(theirs.len()) {
            match (mine.get(i), theirs.get(i)) {
                (Some(a), Some(b)) => match a.cmp(b) {
                    Ordering::Equal => continue,
                    unequal => return unequal,
                },
                // Extra segments decide only when one of them is non-zero.
                (None, Some(_)) if theirs[i..].iter().any(|s| *s != 0) => return Ordering::Less,
                (Some(_), None) if mine[i..].iter().any(|s| *s != 0) => return Ordering::Greater,
                _ => break,
            }
        }
        Ordering::Equal
    }
}

fn compare_prereleases(mine: &str, theirs: &str) -> Ordering {
    let a: Vec<&str> = mine.split('.').collect();
    let b: Vec<&str> = theirs.split('.').collect();
    for i in 0..a.len().max(b.len()) {
        let part = compare_prerelease_part(
            a.get(i).copied().unwrap_or(""),
            b.get(i).copied().unwrap_or(""),
        );
        if part != Ordering::Equal {
            return part;
        }
    }
    Ordering::Equal
}

/// go-version's `comparePart`: numeric parts sort before alphanumeric ones,
/// otherwise parts compare as strings (so `10` < `9`); a missing part loses
/// to a numeric one and wins over an alphanumeric one.
fn compare_prerelease_part(mine: &str, theirs: &str) -> Ordering {
    if mine == theirs {
        return Ordering::Equal;
    }
    let (mine_numeric, theirs_numeric) = (go_parses_as_int(mine), go_parses_as_int(theirs));
    if mine.is_empty() {
        return if theirs_numeric {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    if theirs.is_empty() {
        return if mine_numeric {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    match (mine_numeric, theirs_numeric) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ if mine > theirs => Ordering::Greater,
        _ => Ordering::Less,
    }
}

/// Whether Go's `strconv.ParseInt(s, 10, 64)` accepts `s` (sign allowed).
fn go_parses_as_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && s.parse::<i64>().is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Pessimistic,
}

/// A comma-separated list of clauses (`>= 1.0, < 2`); a version satisfies
/// it when it satisfies every clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConstraints {
    clauses: Vec<(Operator, Version)>,
}

impl VersionConstraints {
    /// go-version's `NewConstraint`; errors: `Malformed constraint: <clause>`.
    pub fn parse(s: &str) -> Result<VersionConstraints, String> {
        let clauses = s
            .split(',')
            .map(parse_clause)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VersionConstraints { clauses })
    }

    /// Whether `v` satisfies every clause.
    pub fn check(&self, v: &Version) -> bool {
        self.clauses.iter().all(|(op, c)| clause_holds(*op, v, c))
    }
}

/// Go's `\s` (ASCII whitespace without `\v`).
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

fn parse_clause(clause: &str) -> Result<(Operator, Version), String> {
    let malformed = || format!("Malformed constraint: {clause}");
    let rest = clause.trim_matches(is_go_space);
    // A version never starts with an operator character, so the operator
    // is the longest one that prefixes the clause.
    let (op, rest) = [
        (">=", Operator::GreaterOrEqual),
        ("<=", Operator::LessOrEqual),
        ("!=", Operator::NotEqual),
        ("~>", Operator::Pessimistic),
        ("=", Operator::Equal),
        (">", Operator::Greater),
        ("<", Operator::Less),
    ]
    .into_iter()
    .find_map(|(text, op)| rest.strip_prefix(text).map(|r| (op, r)))
    .unwrap_or((Operator::Equal, rest));
    let text = rest.trim_start_matches(is_go_space);
    if text.is_empty() || !version_regex().is_match(text) {
        return Err(malformed());
    }
    Ok((op, Version::parse(text)?))
}

fn clause_holds(op: Operator, v: &Version, c: &Version) -> bool {
    let order = v.compare(c);
    match op {
        Operator::Equal => order == Ordering::Equal,
        Operator::NotEqual => order != Ordering::Equal,
        Operator::Greater => order == Ordering::Greater,
        Operator::Less => order == Ordering::Less,
        Operator::GreaterOrEqual => order != Ordering::Less,
        Operator::LessOrEqual => order != Ordering::Greater,
        Operator::Pessimistic => pessimistic_holds(v, c),
    }
}

/// `~>`: at least `c`, same leading segments as written in `c` except the
/// last written one, which may grow.
fn pessimistic_holds(v: &Version, c: &Version) -> bool {
    if v.compare(c) == Ordering::Less {
        return false;
    }
    let padded = c.segments.len();
    if padded > v.segments.len() {
        return false;
    }
    let fixed = c.specified.saturating_sub(1);
    if v.segments[..fixed] != c.segments[..fixed] {
        return false;
    }
    c.segments[padded - 1] <= v.segments[padded - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_lenient_versions() {
        let cases: &[(&str, &[i64], &str, &str)] = &[
            ("1.2.3", &[1, 2, 3], "", ""),
            ("v1.2", &[1, 2, 0], "", ""),
            ("1", &[1, 0, 0], "", ""),
            ("1.2.3.4.5", &[1, 2, 3, 4, 5], "", ""),
            ("1.2.3-beta.1+build.7", &[1, 2, 3], "beta.1", "build.7"),
            ("1.2.3beta", &[1, 2, 3], "beta", ""),
            ("1.0a", &[1, 0, 0], "a", ""),
            // The regex prefers fewer segments when the rest still parses.
            ("12.x", &[1, 0, 0], "2.x", ""),
            ("1.23.x", &[1, 2, 0], "3.x", ""),
            ("1.2.3-", &[1, 2, 3], "-", ""),
            ("0.6.1+ent", &[0, 6, 1], "", "ent"),
        ];
        for (input, segments, pre, meta) in cases {
            let parsed = v(input);
            assert_eq!(parsed.segments, *segments, "{input}");
            assert_eq!(parsed.pre, *pre, "{input}");
            assert_eq!(parsed.metadata, *meta, "{input}");
        }
        for bad in ["", "abc", "1.", ".1", "1..2", "1.2.3+", "v", "1 2"] {
            assert_eq!(
                Version::parse(bad),
                Err(format!("Malformed version: {bad}")),
                "{bad:?}"
            );
        }
        assert_eq!(
            Version::parse("99999999999999999999"),
            Err("Error parsing version: strconv.ParseInt: parsing \"99999999999999999999\": value out of range".into())
        );
    }

    #[test]
    fn compares_like_go_version() {
        use Ordering::*;
        let cases = [
            ("1.2.3", "1.2.3", Equal),
            ("1.2", "1.2.0", Equal),
            ("1.2.0.0", "1.2", Equal),
            ("1.2.0.1", "1.2", Greater),
            ("1.10", "1.9", Greater),
            ("1.2.3-beta", "1.2.3", Less),
            ("1.2.3", "1.2.3-rc1", Greater),
            ("1.2.3-alpha", "1.2.3-beta", Less),
            ("1.2.3-1", "1.2.3-alpha", Less),
            ("1.2.3-beta.2", "1.2.3-beta.10", Greater), // parts compare as strings
            ("1.2.3-beta", "1.2.3-beta.1", Less),       // a missing part loses to a numeric one
            ("1.2.3-beta", "1.2.3-beta.x", Greater),    // and wins over an alphanumeric one
            ("1.2.3+a", "1.2.3+b", Equal),
            // The prerelease is ignored when segment lists differ in length.
            ("1.2.3-beta", "1.2.3.0", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(v(a).compare(&v(b)), want, "{a} vs {b}");
            assert_eq!(v(b).compare(&v(a)), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn constraint_clauses() {
        let cases = [
            (">= 0.6.1", "0.6.1", true),
            (">= 0.6.1", "0.6.0", false),
            (">= 0.6.1", "0.7.0-beta1", true),
            ("> 1.0, < 1.4", "1.2", true),
            ("> 1.0, < 1.4", "1.4", false),
            ("= 1.0", "1.0.0", true),
            ("1.0", "1.0.0", true),
            ("!= 1.0", "1.0.1", true),
            ("<= 1.0", "1.0.0-rc1", true),
            ("~> 1.2", "1.9", true),
            ("~> 1.2", "2.0", false),
            ("~> 1.2.3", "1.2.9", true),
            ("~> 1.2.3", "1.3.0", false),
            ("~> 1.2.3", "1.2.2", false),
            ("~> 1", "1.9.9", true),
            // go-version of 2017 compares the padded last segment, so a
            // one-segment `~>` only sets a floor.
            ("~> 1", "2.0.0", true),
            ("~> 1", "0.9", false),
            ("  >=1.0  ,<2 ", "1.5", true),
        ];
        for (constraint, version, want) in cases {
            let parsed = VersionConstraints::parse(constraint).unwrap();
            assert_eq!(parsed.check(&v(version)), want, "{version} {constraint}");
        }
        for bad in ["", ">=", "=> 1.0", "~ 1", ">= 1.0,", "1.x", ">= 1.0 beta"] {
            let err = VersionConstraints::parse(bad).unwrap_err();
            assert!(err.starts_with("Malformed constraint: "), "{bad:?}: {err}");
        }
        assert_eq!(
            VersionConstraints::parse(">= 1.0, foo").unwrap_err(),
            "Malformed constraint:  foo"
        );
    }
}
