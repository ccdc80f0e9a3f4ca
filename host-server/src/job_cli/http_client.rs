//! A small blocking HTTP/1.1 client for the CLI (one request per
//! connection, no TLS), with the Nomad API client's error texts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::de::DeserializeOwned;

/// Nomad's default agent address.
pub const DEFAULT_ADDRESS: &str = "http://127.0.0.1:4646";

/// Responses larger than this are refused rather than buffered.
const MAX_RESPONSE: u64 = 256 * 1024 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// Where requests go and which region they ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    /// `host:port`, as sent in `Host`.
    authority: String,
    /// `http://host:port`, for error texts.
    base: String,
    /// Sent as `?region=` when not empty.
    pub region: String,
}

/// A response as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl ApiClient {
    /// `address` is `http://host[:port]` (a bare `host:port` works too).
    pub fn new(address: &str) -> Result<ApiClient, String> {
        let rest = if let Some(r) = address.strip_prefix("http://") {
            r
        } else if address.starts_with("https://") {
            return Err(format!(
                "{address}: https is not supported by this client; use an http:// address"
            ));
        } else if address.contains("://") {
            return Err(format!("{address}: unsupported protocol scheme"));
        } else {
            address
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() {
            return Err(format!("{address}: no host in the address"));
        }
        // Go defaults the port of an http URL to 80.
        let has_port = match host.rfind(':') {
            Some(i) => !host[i..].contains(']'),
            None => false,
        };
        let authority = if has_port {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok(ApiClient {
            base: format!("http://{authority}"),
            authority,
            region: String::new(),
        })
    }

    /// `PUT` of a JSON body; the decoded 200 body or the API client's error.
    pub fn write<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        go_type: &'static str,
    ) -> Result<T, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let resp = self.request("PUT", path, Some(&bytes))?;
        decode(require_ok(resp)?, go_type)
    }

    /// `GET`; the decoded 200 body or the API client's error.
    pub fn query<T: DeserializeOwned>(
        &self,
        path: &str,
        go_type: &'static str,
    ) -> Result<T, String> {
        let resp = self.request("GET", path, None)?;
        decode(require_ok(resp)?, go_type)
    }

    /// One request on a fresh connection. Transport errors read like Go's
    /// (`Put http://…/v1/jobs: dial tcp …: connect: connection refused`).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, String> {
        let mut target = escape_path(path);
        if !self.region.is_empty() {
            target.push_str("?region=");
            target.push_str(&query_escape(&self.region));
        }
        let url = format!("{}{}", self.base, target);
        let verb = go_verb(method);
        let mut stream = self
            .connect()
            .map_err(|e| format!("{verb} {url}: dial tcp {}: {e}", self.authority))?;
        let io_err = |e: std::io::Error| format!("{verb} {url}: {}", io_text(&e));
        let body = body.unwrap_or(&[]);
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: caravan\r\nConnection: close\r\n",
            self.authority
        );
        if method != "GET" || !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(io_err)?;
        stream.write_all(body).map_err(io_err)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_RESPONSE)
            .read_to_end(&mut raw)
            .map_err(io_err)?;
        parse_response(&raw).map_err(|e| format!("{verb} {url}: {e}"))
    }

    fn connect(&self) -> Result<TcpStream, String> {
        let addrs: Vec<SocketAddr> = self
            .authority
            .to_socket_addrs()
            .map_err(|e| format!("lookup {}: {}", self.authority, io_text(&e)))?
            .collect();
        let mut last = String::from("no addresses");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    s.set_read_timeout(Some(IO_TIMEOUT))
                        .map_err(|e| io_text(&e))?;
                    s.set_write_timeout(Some(IO_TIMEOUT))
                        .map_err(|e| io_text(&e))?;
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = format!("connect: {}", io_text(&e)),
            }
        }
        Err(last)
    }
}

/// Nomad's `requireOK`: anything but 200 is an error carrying the body.
fn require_ok(resp: HttpResponse) -> Result<Vec<u8>, String> {
    if resp.status == 200 {
        Ok(resp.body)
    } else {
        Err(format!(
            "Unexpected response code: {} ({})",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        ))
    }
}

/// Decodes a 200 body; `go_type` names the Go API type in errors.
fn decode<T: DeserializeOwned>(body: Vec<u8>, go_type: &str) -> Result<T, String> {
    serde_json::from_slice(&body).map_err(|e| format!("error decoding {go_type}: {e}"))
}

/// Go's `http.Client` names the method in title case in its errors.
fn go_verb(method: &str) -> String {
    let lower = method.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// An I/O error as Go words the common ones.
fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset by peer".into(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "i/o timeout".into(),
        _ => e.to_string(),
    }
}

/// Splits a raw response into status and (de-chunked) body.
fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let rest = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .filter(|l| l.starts_with("HTTP/1."))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("malformed HTTP response")?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n).ok_or("unexpected EOF")?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("unexpected EOF")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| "malformed chunked encoding")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).ok_or("unexpected EOF")?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("unexpected EOF")?;
    }
}

/// Escapes a path as Go's `url.URL` does: `/` and sub-delimiters stay.
fn escape_path(path: &str) -> String {
    escape(path, |b| {
        b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b)
    })
}

/// `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    escape(s, |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)).replace("%20", "+")
}

fn escape(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let c = ApiClient::new("http://127.0.0.1:4646").expect("valid");
        assert_eq!(
            (c.authority.as_str(), c.base.as_str()),
            ("127.0.0.1:4646", "http://127.0.0.1:4646")
        );
        assert_eq!(
            ApiClient::new("localhost:99/ui").map(|c| c.authority),
            Ok("localhost:99".to_string())
        );
        assert_eq!(
            ApiClient::new("http://[::1]").map(|c| c.authority),
            Ok("[::1]:80".to_string())
        );
        assert!(ApiClient::new("https://x:1").is_err());
        assert!(ApiClient::new("http://").is_err());
    }

    #[test]
    fn responses_plain_sized_and_chunked() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx").expect("ok");
        assert_eq!((r.status, r.body), (200, b"{}".to_vec()));
        let r = parse_response(
            b"HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .expect("ok");
        assert_eq!((r.status, r.body), (500, b"abcde".to_vec()));
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    #[test]
    fn escaping_and_errors() {
        assert_eq!(escape_path("/v1/job/a b?/plan"), "/v1/job/a%20b%3F/plan");
        assert_eq!(query_escape("us west&1"), "us+west%261");
        assert_eq!(
            require_ok(HttpResponse {
                status: 500,
                body: b"boom".to_vec()
            }),
            Err("Unexpected response code: 500 (boom)".to_string())
        );
        assert_eq!(go_verb("PUT"), "Put");
    }

    #[test]
    fn refused_connections_read_like_go() {
        // Bind then drop a listener: its port now refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let c = ApiClient::new(&format!("http://127.0.0.1:{port}")).expect("valid");
        let err = c
            .request("PUT", "/v1/jobs", Some(b"{}"))
            .expect_err("refused");
        assert_eq!(
            err,
            format!("Put http://127.0.0.1:{port}/v1/jobs: dial tcp 127.0.0.1:{port}: connect: connection refused")
        );
    }
}
