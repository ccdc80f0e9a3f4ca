//! Reading a request as Nomad's Go handlers see it: the percent-decoded
//! path, `url.ParseQuery` semantics, the blocking options and Go's bool
//! parsing, with the body read up to a size limit.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::Method;

use super::ApiError;
use crate::cluster::Blocking;

/// Largest request body accepted (a 50-group job is ~400 KB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Nomad's cap and default for `?wait`.
const MAX_QUERY_TIME: Duration = Duration::from_secs(300);

/// A request: method, decoded path, query pairs and body.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    /// The path with `%XX` escapes decoded (`%2F` becomes `/`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    /// Set when a parked blocking read runs again: its deadline.
    pub resume: Option<tokio::time::Instant>,
}

impl Req {
    /// A request from its method, raw (still escaped) path and query, and
    /// body.
    pub fn new(method: Method, raw_path: &str, raw_query: &str, body: Bytes) -> Req {
        Req {
            method,
            path: percent_decode(raw_path),
            query: parse_query(raw_query),
            body,
            resume: None,
        }
    }

    /// `query.Get(key)`: the first value, `""` when absent.
    pub fn param(&self, key: &str) -> &str {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether `key` is present at all (`?stale`).
    pub fn has(&self, key: &str) -> bool {
        self.query.iter().any(|(k, _)| k == key)
    }

    /// `?pretty` present with an empty value or anything but `0`.
    pub fn pretty(&self) -> bool {
        self.query
            .iter()
            .find(|(k, _)| k == "pretty")
            .is_some_and(|(_, v)| v != "0")
    }

    pub fn is_write(&self) -> bool {
        self.method == Method::PUT || self.method == Method::POST
    }

    /// Nomad's `parse`: region, stale, prefix, then `wait` and `index`
    /// (400 `Invalid wait time` / `Invalid index`).
    pub fn query_options(&self) -> Result<QueryOptions, ApiError> {
        let mut q = QueryOptions {
            region: self.param("region").to_string(),
            stale: self.has("stale"),
            prefix: self.param("prefix").to_string(),
            resume: self.resume,
            ..Default::default()
        };
        let wait = self.param("wait");
        if !wait.is_empty() {
            let d = caravan_core::gofmt::parse_duration(wait)
                .ok_or_else(|| ApiError::BadRequest("Invalid wait time".into()))?;
            q.wait = Some(d);
        }
        let index = self.param("index");
        if !index.is_empty() {
            q.min_index =
                parse_uint(index).ok_or_else(|| ApiError::BadRequest("Invalid index".into()))?;
        }
        Ok(q)
    }

    /// What writes read of the query: only `region`.
    pub fn write_options(&self) -> QueryOptions {
        QueryOptions {
            region: self.param("region").to_string(),
            ..Default::default()
        }
    }

    /// A bool query parameter parsed strictly (`purge`, `diffs`): absent or
    /// empty is false; a bad value is Nomad's 500 with strconv's text.
    pub fn bool_param(&self, key: &str) -> Result<bool, ApiError> {
        let v = self.param(key);
        if v.is_empty() {
            return Ok(false);
        }
        parse_go_bool(v).ok_or_else(|| {
            ApiError::Server(format!(
                "Failed to parse value of \"{key}\" ({v}) as a bool: strconv.ParseBool: parsing {}: invalid syntax",
                caravan_core::gofmt::quote(v)
            ))
        })
    }
}

/// The query options of a read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    pub region: String,
    pub stale: bool,
    pub prefix: String,
    /// `?wait` in nanoseconds, if given.
    pub wait: Option<i64>,
    pub min_index: u64,
    /// The request's [`Req::resume`].
    pub resume: Option<tokio::time::Instant>,
}

impl QueryOptions {
    /// Nomad's blocking timeout: `wait` capped at 300 s (≤ 0 or absent:
    /// 300 s) plus a random jitter in `[0, timeout/16)`.
    pub fn blocking(&self) -> Blocking {
        if self.min_index == 0 {
            return Blocking::default();
        }
        let mut timeout = match self.wait {
            Some(ns) if ns > 0 => Duration::from_nanos(ns as u64),
            _ => MAX_QUERY_TIME,
        };
        if timeout > MAX_QUERY_TIME {
            timeout = MAX_QUERY_TIME;
        }
        let span = (timeout.as_nanos() / 16) as u64;
        // A parked read run again keeps its deadline: no jitter to draw (a
        // `getrandom` call per woken watcher).
        let jitter = if span == 0 || self.resume.is_some() {
            0
        } else {
            crate::entropy::seed() % span
        };
        Blocking {
            min_index: self.min_index,
            timeout: timeout + Duration::from_nanos(jitter),
            resume: self.resume,
        }
    }
}

/// `strconv.ParseBool`.
pub fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.ParseUint(s, 10, 64)`: digits only, no sign.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes; `+` stays (path semantics).
fn percent_decode(s: &str) -> String {
    unescape(s, false).unwrap_or_else(|| s.to_string())
}

/// Go's unescape: `None` on a malformed escape.
fn unescape(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `url.ParseQuery` as Go 1.9 did it: pairs split on `&` and `;`, `+` is a
/// space, a pair with a bad escape is dropped.
fn parse_query(raw: &str) -> Vec<(String, String)> {
    let mut query: Vec<_> = raw
        .split(['&', ';'])
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((unescape(k, true)?, unescape(v, true)?))
        })
        .collect();
    // A parked blocking query keeps its request: no spare room.
    query.shrink_to_fit();
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_follows_go() {
        assert_eq!(
            parse_query("a=1&b=x+y;c=%2F&bad=%zz&d"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x y".to_string()),
                ("c".to_string(), "/".to_string()),
                ("d".to_string(), String::new()),
            ]
        );
        assert_eq!(percent_decode("/v1/job/a%2Fb+c"), "/v1/job/a/b+c");
    }

    #[test]
    fn go_bools_and_uints() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Some(false));
        }
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_uint("007"), Some(7));
        assert_eq!(parse_uint("-1"), None);
        assert_eq!(parse_uint("+1"), None);
    }

    #[test]
    fn blocking_timeout_is_capped_and_jittered() {
        let q = QueryOptions {
            min_index: 5,
            wait: Some(2_000_000_000),
            ..Default::default()
        };
        let b = q.blocking();
        assert_eq!(b.min_index, 5);
        assert!(b.timeout >= Duration::from_secs(2));
        assert!(b.timeout < Duration::from_millis(2125));
        let long = QueryOptions {
            min_index: 1,
            wait: Some(3_600_000_000_000),
            ..Default::default()
        }
        .blocking();
        assert!(long.timeout >= MAX_QUERY_TIME && long.timeout < MAX_QUERY_TIME * 17 / 16);
        assert_eq!(QueryOptions::default().blocking(), Blocking::default());
    }

    #[test]
    fn a_resumed_read_keeps_its_deadline_and_draws_no_jitter() {
        let deadline = tokio::time::Instant::now();
        let req = Req {
            resume: Some(deadline),
            ..Req::new(Method::GET, "/v1/job/a", "index=5&wait=2s", Bytes::new())
        };
        let b = req.query_options().expect("valid").blocking();
        assert_eq!(
            b,
            Blocking {
                min_index: 5,
                timeout: Duration::from_secs(2),
                resume: Some(deadline),
            }
        );
    }
}
